data "aws_availability_zones" "all" {}
resource "aws_vpc" "x" {
  for_each = toset(data.aws_availability_zones.all.names)
  tags = { z = each.valu }
  cidr_block = "10.0.0.0/16"
}
