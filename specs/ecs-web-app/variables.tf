variable "region" {
  type    = string
  default = "us-east-1"
}

variable "project" {
  type    = string
  default = "ecsweb"
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "vpc_cidr" {
  type    = string
  default = "10.30.0.0/16"
}

variable "admin_cidr" {
  type        = string
  default     = "203.0.113.10/32"
  description = "The only network allowed to SSH to the bastion"
}

variable "codestar_connection_arn" {
  type        = string
  default     = "arn:aws:codestar-connections:us-east-1:000000000000:connection/00000000-0000-0000-0000-000000000000"
  description = "A CodeStar connection to GitHub, created and approved in the console"
}

variable "github_repository" {
  type    = string
  default = "example-org/ecs-web-app"
}

variable "github_branch" {
  type    = string
  default = "main"
}

variable "bastion_public_key" {
  type        = string
  default     = ""
  description = "SSH public key for the bastion; empty means bastion.pub beside the spec"
}

variable "known_hosts_file" {
  type        = string
  default     = "~/.ssh/known_hosts"
  description = "Where the bastion's host key is recorded after it gets its address"
}

variable "bucket_suffix" {
  type        = string
  default     = ""
  description = "Appended to bucket names, which are global across all AWS accounts"
}

variable "domain_name" {
  type        = string
  default     = ""
  description = "The app's name (app.example.com), in a Route 53 public zone the account already has; empty serves plain HTTP on the load balancer's own name"
}

variable "hosted_zone_name" {
  type        = string
  default     = ""
  description = "The Route 53 zone holding domain_name; empty means domain_name's parent (example.com)"
}
