provider "aws" {
  region = "us-east-1"
}
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
resource "aws_vpc" "x" {
  provider = aws.west
  cidr_block = "10.0.0.0/16"
}
