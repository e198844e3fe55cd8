variable "db_port" {
  type      = number
  sensitive = true
  default   = "Pa55w0rd"
}
