resource "aws_vpc" "x" {
  cidr_blok = "10.0.0.0/16"
}
