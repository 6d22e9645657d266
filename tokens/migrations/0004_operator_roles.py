"""Operator roles as groups. Frozen here (a migration must not follow later
code); tokens.roles.ROLES is the same table, and a test keeps them equal."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "tokenizer": ["tokens.tokenize"],
    "detokenizer": ["tokens.detokenize"],
    "ttl_manager": ["tokens.manage_ttl"],
    "auditor": ["tokens.view_audit"],
    "vault_admin": ["tokens.manage_operators", "tokens.view_apiclient", "auth.view_user", "auth.view_group"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("tokens", "0003_operator_account"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
