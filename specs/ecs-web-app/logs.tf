# Error logs go to CloudWatch Logs (charged at ingestion, so only errors);
# access logs go to S3 for cheap long-term retention. Fluent Bit does the
# routing; its own diagnostics go to the firelens group.

resource "aws_cloudwatch_log_group" "errors" {
  for_each          = local.services
  name              = "/ecs/${local.name}/${each.key}/errors"
  retention_in_days = local.settings.log_retention_days
}

resource "aws_cloudwatch_log_group" "firelens" {
  name              = "/ecs/${local.name}/firelens"
  retention_in_days = 7
}

resource "aws_cloudwatch_log_group" "build" {
  name              = "/codebuild/${local.name}"
  retention_in_days = 14
}
