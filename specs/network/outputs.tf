output "vpc_id" {
  value = aws_vpc.main.id
}

output "public_subnet_ids" {
  value = [for s in aws_subnet.public : s.id]
}

output "private_subnet_ids" {
  value = [for s in aws_subnet.private : s.id]
}

output "nat_gateway_public_ip" {
  value = aws_eip.nat.public_ip
}

output "security_group_ids" {
  value = {
    alb     = aws_security_group.alb.id
    app     = aws_security_group.app.id
    bastion = aws_security_group.bastion.id
  }
}
