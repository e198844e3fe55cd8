resource "aws_vpc" "x" {
  count = 1000000000
  cidr_block = "10.0.0.0/16"
}
