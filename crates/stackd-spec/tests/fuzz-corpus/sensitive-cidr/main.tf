variable "db_password" {
  sensitive = true
  default   = "Pa55w0rd!x"
}
resource "aws_vpc" "x" {
  
  cidr_block = var.db_password
}
