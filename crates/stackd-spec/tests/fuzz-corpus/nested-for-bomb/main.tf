resource "aws_vpc" "x" {
  
  cidr_block = tostring(length(flatten([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]])))
}
