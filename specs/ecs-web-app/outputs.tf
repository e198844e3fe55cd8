output "alb_dns_name" {
  value = aws_lb.main.dns_name
}

output "bastion_ip" {
  value = aws_eip.bastion.public_ip
}

output "repository_urls" {
  value = { for k, r in aws_ecr_repository.app : k => r.repository_url }
}

output "account_id" {
  value = data.aws_caller_identity.current.account_id
}

output "app_url" {
  value = local.https ? "https://${var.domain_name}" : "http://${aws_lb.main.dns_name}"
}
