resource "aws_vpc" "x" {
  cidr_Ωblock = "10.0.0.0/16"
}
