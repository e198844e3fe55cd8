# One repository per service, plus the Fluent Bit image with its routing
# configuration baked in (Fargate cannot read FireLens config from S3).

locals {
  repositories = toset(concat(keys(local.services), ["log-router"]))
}

resource "aws_ecr_repository" "app" {
  for_each             = local.repositories
  name                 = "${local.name}/${each.key}"
  image_tag_mutability = "MUTABLE"
  force_delete         = true

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  for_each   = aws_ecr_repository.app
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 10 images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 10
      }
      action = { type = "expire" }
    }]
  })
}
