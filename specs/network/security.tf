# Security groups. The load balancer and the application refer to each
# other, so their cross rules are separate aws_security_group_rule
# resources: inline rules in both groups would be a dependency cycle.

resource "aws_security_group" "alb" {
  name        = "${var.project}-alb"
  description = "Load balancer: HTTP and HTTPS from the internet"
  vpc_id      = aws_vpc.main.id

  dynamic "ingress" {
    for_each = toset(var.alb_ports)
    content {
      description = "public ${ingress.value}"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  tags = {
    Name = "${var.project}-alb"
  }
}

resource "aws_security_group" "app" {
  name        = "${var.project}-app"
  description = "Front-end and back-end services: only from the load balancer"
  vpc_id      = aws_vpc.main.id

  egress {
    description = "all outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = {
    Name = "${var.project}-app"
  }
}

resource "aws_security_group" "bastion" {
  name        = "${var.project}-bastion"
  description = "Bastion: SSH from the administrator only"
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

  tags = {
    Name = "${var.project}-bastion"
  }
}

resource "aws_security_group_rule" "alb_to_app" {
  type                     = "egress"
  description              = "to the services"
  security_group_id        = aws_security_group.alb.id
  from_port                = var.app_port_range[0]
  to_port                  = var.app_port_range[1]
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.app.id
}

resource "aws_security_group_rule" "app_from_alb" {
  type                     = "ingress"
  description              = "from the load balancer"
  security_group_id        = aws_security_group.app.id
  from_port                = var.app_port_range[0]
  to_port                  = var.app_port_range[1]
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group_rule" "app_ssh_from_bastion" {
  type                     = "ingress"
  description              = "SSH from the bastion"
  security_group_id        = aws_security_group.app.id
  from_port                = 22
  to_port                  = 22
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.bastion.id
}
