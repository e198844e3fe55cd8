resource "aws_vpc" "x" {
  cidr_block = “10.0.0.0/16”
  tags       = { Name = ‘web’ }
}
