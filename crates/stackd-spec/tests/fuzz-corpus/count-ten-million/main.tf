resource "aws_vpc" "x" {
  count = 10000000
  cidr_block = "10.0.0.0/16"
}
