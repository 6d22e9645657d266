from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Token vault"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tokens import operator_events  # noqa: F401  (connects the audit receivers)
