# The back end's database password: made by stackd, kept in Secrets
# Manager, and handed to the task by ECS (the task definition names the
# secret; the value never appears in it, nor in a plan).

resource "random_password" "db" {
  length  = 32
  special = true
  # RDS refuses "/", "@", '"' and spaces in a master password.
  override_special = "!#$%^&*()-_=+[]{}<>:?"
}

resource "aws_secretsmanager_secret" "db" {
  name                    = "${local.name}/db-password"
  description             = "The password the back end uses for its database"
  recovery_window_in_days = local.settings.database.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db.id
  secret_string = random_password.db.result
}

# ECS reads the secret with the task execution role when it starts a task.
data "aws_iam_policy_document" "task_execution_secrets" {
  statement {
    sid       = "DatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db.arn]
  }
}

resource "aws_iam_role_policy" "task_execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.task_execution.id
  policy = data.aws_iam_policy_document.task_execution_secrets.json
}
