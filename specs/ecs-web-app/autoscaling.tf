# Autoscaling of the services that have an `autoscaling` entry in
# settings.yaml (the back end): target tracking on the service's average
# CPU, and an alarm when it stays high anyway.
#
# The service's desired_count (settings.yaml) is what each apply sets; a team
# that lets autoscaling alone drive the count adds
# `lifecycle { ignore_changes = [desired_count] }` to aws_ecs_service.

locals {
  scaled_services = {
    for name, s in local.services : name => s.autoscaling if try(s.autoscaling, null) != null
  }
}

resource "aws_appautoscaling_target" "service" {
  for_each           = local.scaled_services
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.service[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min_capacity
  max_capacity       = each.value.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each           = local.scaled_services
  name               = "${local.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  for_each            = local.scaled_services
  alarm_name          = "${local.name}-${each.key}-cpu-high"
  alarm_description   = "The ${each.key} service's average CPU stayed above ${each.value.cpu_alarm}% for 5 minutes"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 5
  metric_name         = "CPUUtilization"
  namespace           = "AWS/ECS"
  period              = 60
  statistic           = "Average"
  threshold           = each.value.cpu_alarm
  treat_missing_data  = "notBreaching"

  dimensions = {
    ClusterName = aws_ecs_cluster.main.name
    ServiceName = aws_ecs_service.service[each.key].name
  }
}
