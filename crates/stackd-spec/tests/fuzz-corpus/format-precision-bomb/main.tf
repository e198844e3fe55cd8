resource "aws_vpc" "x" {
  
  cidr_block = format("%.999999999999f", 1)
}
