resource "aws_vpc" "x" {
  for_each = toset(flatten([for a in range(101) : [for b in range(100) : "${a}-${b}"]]))
  cidr_block = "10.0.0.0/16"
}
