resource "aws_vpc" "x" {
  count = 1.5
  cidr_block = "10.0.0.0/16"
}
