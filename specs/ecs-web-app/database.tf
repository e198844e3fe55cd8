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

# The back end's PostgreSQL database, in the private subnets, reachable only
# from the services' security group.
resource "aws_security_group" "db" {
  name        = "${local.name}-db"
  description = "Database"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "PostgreSQL from the ECS services"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.service.id]
  }

  tags = { Name = "${local.name}-db" }
}

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_db_parameter_group" "main" {
  name   = local.name
  family = local.settings.database.parameter_group_family

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(local.settings.database.slow_query_ms)
  }
}

resource "aws_db_instance" "main" {
  identifier                = local.name
  engine                    = "postgres"
  engine_version            = local.settings.database.engine_version
  instance_class            = local.settings.database.instance_class
  allocated_storage         = local.settings.database.allocated_storage
  storage_type              = "gp3"
  storage_encrypted         = true
  db_name                   = local.settings.database.name
  username                  = local.settings.database.username
  password                  = random_password.db.result
  db_subnet_group_name      = aws_db_subnet_group.main.name
  parameter_group_name      = aws_db_parameter_group.main.name
  vpc_security_group_ids    = [aws_security_group.db.id]
  publicly_accessible       = false
  multi_az                  = local.settings.database.multi_az
  backup_retention_period   = local.settings.database.backup_retention_days
  deletion_protection       = local.settings.database.deletion_protection
  skip_final_snapshot       = local.settings.database.skip_final_snapshot
  final_snapshot_identifier = local.settings.database.skip_final_snapshot ? null : "${local.name}-final"
  apply_immediately         = true
}
