locals {
  x = "${😀}"
}
