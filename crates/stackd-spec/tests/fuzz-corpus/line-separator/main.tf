locals {
  x = 1 + 
}
