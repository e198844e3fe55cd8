# Per service: CodeBuild builds the image and pushes it to ECR, writing
# imagedefinitions.json; CodePipeline runs source (GitHub through a
# CodeStar connection) → build → ECS deploy.

resource "aws_codebuild_project" "service" {
  for_each      = local.services
  name          = "${local.name}-${each.key}"
  service_role  = aws_iam_role.codebuild.arn
  build_timeout = 20

  environment {
    type            = each.value.build_environment
    compute_type    = each.value.build_compute
    image           = each.value.build_image
    privileged_mode = true # docker build needs it

    environment_variable {
      name  = "REPOSITORY_URI"
      value = aws_ecr_repository.app[each.key].repository_url
    }
    environment_variable {
      name  = "CONTAINER_NAME"
      value = each.key
    }
    environment_variable {
      name  = "SERVICE_DIR"
      value = "specs/ecs-web-app/app/${each.key}"
    }
  }

  # AWS ignores source and artifact locations when the pipeline supplies
  # them (type CODEPIPELINE); LocalStack's CodeBuild (moto) insists on
  # both, so they are named here. Harmless on a real account.
  source {
    type      = "CODEPIPELINE"
    location  = "codepipeline"
    buildspec = "specs/ecs-web-app/app/buildspec.yml"
  }

  artifacts {
    type     = "CODEPIPELINE"
    location = aws_s3_bucket.this["artifacts"].id
  }

  logs_config {
    cloudwatch_logs {
      group_name  = aws_cloudwatch_log_group.build.name
      stream_name = each.key
    }
  }
}

resource "aws_codepipeline" "service" {
  for_each = local.services
  name     = "${local.name}-${each.key}"
  role_arn = aws_iam_role.codepipeline.arn

  artifact_store {
    location = aws_s3_bucket.this["artifacts"].id
    type     = "S3"
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      output_artifacts = ["source"]
      configuration = {
        ConnectionArn        = var.codestar_connection_arn
        FullRepositoryId     = var.github_repository
        BranchName           = var.github_branch
        OutputArtifactFormat = "CODE_ZIP"
      }
    }
  }

  stage {
    name = "Build"
    action {
      name             = "Build"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["source"]
      output_artifacts = ["image"]
      configuration = {
        ProjectName = aws_codebuild_project.service[each.key].name
      }
    }
  }

  stage {
    name = "Deploy"
    action {
      name            = "Deploy"
      category        = "Deploy"
      owner           = "AWS"
      provider        = "ECS"
      version         = "1"
      input_artifacts = ["image"]
      configuration = {
        ClusterName = aws_ecs_cluster.main.name
        ServiceName = aws_ecs_service.service[each.key].name
        FileName    = "imagedefinitions.json"
      }
    }
  }
}
