# The bastion: Amazon Linux from the public SSM parameter, a key pair, a
# public subnet, an Elastic IP. Its host key is recorded in known_hosts
# once the address exists, so the first automated SSH does not stop at the
# fingerprint prompt; a new address records it again.

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_key_pair" "bastion" {
  key_name   = "${local.name}-bastion"
  public_key = var.bastion_public_key != "" ? var.bastion_public_key : trimspace(file("${path.module}/bastion.pub"))
}

resource "aws_instance" "bastion" {
  ami                    = data.aws_ssm_parameter.al2023.value
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.public[local.azs[0]].id
  vpc_security_group_ids = [aws_security_group.bastion.id]
  key_name               = aws_key_pair.bastion.key_name
  iam_instance_profile   = aws_iam_instance_profile.bastion.name

  tags = { Name = "${local.name}-bastion" }
}

resource "aws_eip" "bastion" {
  domain   = "vpc"
  instance = aws_instance.bastion.id
  tags     = { Name = "${local.name}-bastion" }
}

resource "null_resource" "known_hosts" {
  triggers = {
    address = aws_eip.bastion.public_ip
  }

  provisioner "local-exec" {
    command = <<-EOT
      mkdir -p "$(dirname "$KNOWN_HOSTS")"
      if keys="$(ssh-keyscan -T 5 -H "$ADDRESS" 2>/dev/null)" && [ -n "$keys" ]; then
        printf '%s\n' "$keys" >> "$KNOWN_HOSTS"
        echo "recorded the host key of $ADDRESS in $KNOWN_HOSTS"
      else
        echo "$ADDRESS did not answer on port 22 yet; its host key was not recorded"
      fi
    EOT
    environment = {
      ADDRESS     = aws_eip.bastion.public_ip
      KNOWN_HOSTS = pathexpand(var.known_hosts_file)
    }
  }
}

# IDs other stacks read (the original published them as SSM parameters).
resource "aws_ssm_parameter" "ids" {
  for_each = {
    vpc_id             = aws_vpc.main.id
    private_subnet_ids = join(",", [for s in aws_subnet.private : s.id])
    cluster_arn        = aws_ecs_cluster.main.arn
  }
  name  = "/${var.project}/${var.environment}/${each.key}"
  type  = "String"
  value = each.value
}
