resource "aws_vpc" "x" {
  
  cidr_block = indent(1000000000, "a\nb")
}
