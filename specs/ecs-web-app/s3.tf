locals {
  buckets = {
    access_logs = "${local.name}-access-logs${var.bucket_suffix}"
    artifacts   = "${local.name}-pipeline-artifacts${var.bucket_suffix}"
  }
}

resource "aws_s3_bucket" "this" {
  for_each      = local.buckets
  bucket        = each.value
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.this["artifacts"].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.this["access_logs"].id

  rule {
    id     = "archive-access-logs"
    status = "Enabled"
    filter {
      prefix = "access/"
    }
    transition {
      days          = local.settings.access_log_transition_days
      storage_class = "GLACIER"
    }
    expiration {
      days = local.settings.access_log_expiration_days
    }
  }
}
