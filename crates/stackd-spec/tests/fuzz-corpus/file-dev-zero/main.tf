resource "aws_vpc" "x" {
  
  cidr_block = file("/dev/zero")
}
