# The whole reference architecture: network, load balancer, ECS Fargate
# services with a Fluent Bit (FireLens) sidecar, ECR, logs, S3, IAM,
# CodeBuild, CodePipeline and a bastion host.

terraform {
  required_version = ">= 1.5"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.common_tags
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  settings = yamldecode(file("${path.module}/settings.yaml"))
  services = local.settings.services
  name     = "${var.project}-${var.environment}"

  azs             = slice(sort(data.aws_availability_zones.available.names), 0, 2)
  public_subnets  = { for i, az in local.azs : az => cidrsubnet(var.vpc_cidr, 8, i) }
  private_subnets = { for i, az in local.azs : az => cidrsubnet(var.vpc_cidr, 8, i + 10) }

  # The service the listener sends unmatched requests to.
  default_service = one([for k, s in local.services : k if s.default])

  common_tags = {
    Project     = var.project
    Environment = var.environment
  }
}
