resource "aws_vpc" "x" {
  
  cidr_block = templatefile("a.tpl", {})
}
