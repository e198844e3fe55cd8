provider "aws" {
  region = "us-esat-1"
}
