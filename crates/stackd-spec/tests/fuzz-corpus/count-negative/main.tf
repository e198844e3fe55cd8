resource "aws_vpc" "x" {
  count = -1
  cidr_block = "10.0.0.0/16"
}
