# With a domain name: an ACM certificate validated through the account's
# Route 53 zone, an HTTPS listener (see alb.tf) and an alias record to the
# load balancer. The zone is looked up, not made: ACM can validate only
# through a zone the domain is delegated to.

locals {
  https       = var.domain_name != ""
  domain_tail = slice(split(".", var.domain_name), 1, length(split(".", var.domain_name)))
  zone_name   = var.hosted_zone_name != "" ? var.hosted_zone_name : join(".", local.domain_tail)
}

data "aws_route53_zone" "main" {
  count        = local.https ? 1 : 0
  name         = local.zone_name
  private_zone = false
}

resource "aws_acm_certificate" "app" {
  count             = local.https ? 1 : 0
  domain_name       = var.domain_name
  validation_method = "DNS"

  # A new certificate is issued before the listener lets go of the old one.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "certificate_validation" {
  count           = local.https ? 1 : 0
  allow_overwrite = true
  zone_id         = data.aws_route53_zone.main[0].zone_id
  name            = tolist(aws_acm_certificate.app[0].domain_validation_options)[0].resource_record_name
  type            = tolist(aws_acm_certificate.app[0].domain_validation_options)[0].resource_record_type
  records         = [tolist(aws_acm_certificate.app[0].domain_validation_options)[0].resource_record_value]
  ttl             = 60
}

resource "aws_acm_certificate_validation" "app" {
  count                   = local.https ? 1 : 0
  certificate_arn         = aws_acm_certificate.app[0].arn
  validation_record_fqdns = [aws_route53_record.certificate_validation[0].fqdn]
}

resource "aws_route53_record" "app" {
  count   = local.https ? 1 : 0
  zone_id = data.aws_route53_zone.main[0].zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.main.dns_name
    zone_id                = aws_lb.main.zone_id
    evaluate_target_health = true
  }
}
