# Load balancer: HTTP/HTTPS from anywhere. Services: only from the load
# balancer, on their container ports. Bastion: SSH from the admin CIDR; the
# services accept SSH only from the bastion. Cross-group rules are separate
# resources, so the groups do not form a cycle.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Load balancer"
  vpc_id      = aws_vpc.main.id

  dynamic "ingress" {
    for_each = toset([80, 443])
    content {
      description = "HTTP(S) from the internet"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  tags = { Name = "${local.name}-alb" }
}

resource "aws_security_group" "service" {
  name        = "${local.name}-service"
  description = "ECS services"
  vpc_id      = aws_vpc.main.id

  egress {
    description = "all outbound (image pulls, logs, S3)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = { Name = "${local.name}-service" }
}

resource "aws_security_group" "bastion" {
  name        = "${local.name}-bastion"
  description = "Bastion host"
  vpc_id      = aws_vpc.main.id

  ingress {
    description = "SSH from the administrator"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }

  egress {
    description = "all outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = { Name = "${local.name}-bastion" }
}

resource "aws_security_group_rule" "alb_to_service" {
  for_each                 = local.services
  type                     = "egress"
  description              = "to ${each.key}"
  security_group_id        = aws_security_group.alb.id
  from_port                = each.value.port
  to_port                  = each.value.port
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.service.id
}

resource "aws_security_group_rule" "service_from_alb" {
  for_each                 = local.services
  type                     = "ingress"
  description              = "${each.key} from the load balancer"
  security_group_id        = aws_security_group.service.id
  from_port                = each.value.port
  to_port                  = each.value.port
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group_rule" "service_ssh_from_bastion" {
  type                     = "ingress"
  description              = "SSH from the bastion"
  security_group_id        = aws_security_group.service.id
  from_port                = 22
  to_port                  = 22
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.bastion.id
}
