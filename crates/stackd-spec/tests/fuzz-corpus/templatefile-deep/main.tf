resource "aws_vpc" "x" {
  
  cidr_block = templatefile("deep.tpl", {})
}
