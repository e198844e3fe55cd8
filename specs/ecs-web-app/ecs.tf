resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
    base              = 1
  }
}

locals {
  # The application container logs through FireLens; the Fluent Bit sidecar
  # routes access logs to S3 and errors to CloudWatch Logs (one log driver
  # per container is all ECS allows).
  containers = {
    for name, s in local.services : name => [
      merge(
        {
          name      = name
          image     = "${aws_ecr_repository.app[name].repository_url}:${s.image_tag}"
          essential = true
          portMappings = [{
            containerPort = s.port
            protocol      = "tcp"
          }]
          environment = [
            { name = "PORT", value = tostring(s.port) },
            { name = "SERVICE_NAME", value = name },
          ]
          logConfiguration = {
            logDriver = "awsfirelens"
            options   = {}
          }
          dependsOn = [{ containerName = "log-router", condition = "START" }]
        },
        # A service with a database gets its password from Secrets Manager
        # (the secret's ARN, taken from the version so that the value exists
        # before a task starts).
        {
          for k, v in {
            secrets = [
              { name = "DB_PASSWORD", valueFrom = aws_secretsmanager_secret_version.db.arn },
            ]
            environment = [
              { name = "PORT", value = tostring(s.port) },
              { name = "SERVICE_NAME", value = name },
              { name = "DB_HOST", value = aws_db_instance.main.address },
              { name = "DB_PORT", value = tostring(aws_db_instance.main.port) },
              { name = "DB_NAME", value = aws_db_instance.main.db_name },
              { name = "DB_USER", value = aws_db_instance.main.username },
            ]
          } : k => v if try(s.database, false)
        },
        try({
          healthCheck = {
            command     = s.container_health_check
            interval    = 15
            timeout     = 5
            retries     = 3
            startPeriod = 10
          }
        }, {})
      ),
      {
        name      = "log-router"
        image     = "${aws_ecr_repository.app["log-router"].repository_url}:${s.image_tag}"
        essential = true
        firelensConfiguration = {
          type = "fluentbit"
          options = {
            "config-file-type"  = "file"
            "config-file-value" = "/fluent-bit/etc/routing.conf"
          }
        }
        environment = [
          { name = "ACCESS_LOG_BUCKET", value = aws_s3_bucket.this["access_logs"].id },
          { name = "ERROR_LOG_GROUP", value = aws_cloudwatch_log_group.errors[name].name },
          { name = "AWS_REGION", value = data.aws_region.current.name },
        ]
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            "awslogs-group"         = aws_cloudwatch_log_group.firelens.name
            "awslogs-region"        = data.aws_region.current.name
            "awslogs-stream-prefix" = name
          }
        }
      },
    ]
  }
}

resource "aws_ecs_task_definition" "service" {
  for_each                 = local.services
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.task_execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.containers[each.key])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = each.value.cpu_architecture
  }
}

resource "aws_ecs_service" "service" {
  for_each        = local.services
  name            = each.key
  cluster         = aws_ecs_cluster.main.arn
  task_definition = aws_ecs_task_definition.service[each.key].arn
  desired_count   = each.value.desired_count
  launch_type     = "FARGATE"

  health_check_grace_period_seconds = 60

  network_configuration {
    subnets          = [for s in aws_subnet.private : s.id]
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.service[each.key].arn
    container_name   = each.key
    container_port   = each.value.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [
    aws_lb_listener.http,
    aws_lb_listener.https,
    aws_iam_role_policy_attachment.task_execution,
    aws_iam_role_policy.task_execution_secrets,
  ]
}
