variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region (AWS_REGION is not consulted when this is set)"
}

variable "project" {
  type    = string
  default = "ecs-web"
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "az_count" {
  type    = number
  default = 2
}

variable "admin_cidr" {
  type        = string
  default     = "203.0.113.10/32"
  description = "The only address allowed to SSH to the bastion"
}

variable "alb_ports" {
  type    = list(number)
  default = [80, 443]
}

variable "app_port_range" {
  type        = list(number)
  default     = [3000, 8080]
  description = "Container ports of the front end and back end"
}
