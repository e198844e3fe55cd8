resource "aws_vpc" "x" {
  
  cidr_block = format("%999999999999d", 1)
}
