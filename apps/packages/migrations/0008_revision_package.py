"""Each revision names the package it is about, and the audit log has
indexes for its order (newest first), all of it or one package's.

One package's changes were found by searching every revision's snapshots
(JSON) and sorting all of the organisation's revisions: 144 ms for a
package page's history at 50,000 revisions (bench/dashboard.py). The key is
filled in here from the snapshots, as `services.package_of_change` does for
new revisions, and for health changes (their snapshots name no rule) from
the rule or backend, deleted ones too.
"""

from django.db import migrations, models

BATCH = 2_000


def fill(apps, schema_editor):
    Revision = apps.get_model("packages", "Revision")
    Rule = apps.get_model("packages", "Rule")
    Backend = apps.get_model("packages", "Backend")
    # Deleted rules and backends are known from their revisions' snapshots.
    rule_packages = dict(Rule.objects.values_list("id", "package__key"))
    _remember(
        Revision,
        "rule",
        rule_packages,
        lambda snapshot: snapshot.get("rule") and _key_in(snapshot["rule"]),
    )
    backend_rules = dict(Backend.objects.values_list("id", "rule_id"))
    _remember(Revision, "backend", backend_rules, lambda snapshot: snapshot.get("rule"))
    about_packages = Revision.objects.filter(object_type__in=("package", "rule", "backend"))
    last = 0
    while batch := list(about_packages.filter(id__gt=last).order_by("id")[:BATCH]):
        for revision in batch:
            revision.package = _package(revision, rule_packages, backend_rules)
        Revision.objects.bulk_update(batch, ["package"])
        last = batch[-1].id


def _remember(Revision, object_type: str, known: dict, read) -> None:  # noqa: N803
    """Add what `read` finds in the snapshots of each `object_type` to `known`."""
    revisions = Revision.objects.filter(object_type=object_type)
    for object_id, after, before in revisions.values_list("object_id", "after", "before"):
        if found := read(after or before or {}):
            known.setdefault(object_id, found)


def _key_in(form: dict) -> str:
    return form.get("package-id") or form.get("rule-id") or ""


def _package(revision, rule_packages: dict, backend_rules: dict) -> str:
    snapshot = revision.after or revision.before or {}
    if revision.object_type == "package":
        return snapshot.get("key", "")
    if revision.object_type == "rule":
        form = snapshot.get("rule")  # none in a health change's snapshot
        return _key_in(form) if form else rule_packages.get(revision.object_id, "")
    rule_id = snapshot.get("rule") or backend_rules.get(revision.object_id)
    return rule_packages.get(rule_id, "")


class Migration(migrations.Migration):
    dependencies = [("packages", "0007_package_public_stats")]

    operations = [
        migrations.AddField(
            model_name="revision",
            name="package",
            field=models.CharField(
                blank=True,
                default="",
                help_text="the key of the package it is about (empty for a domain or an import)",
                max_length=200,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="revision",
            index=models.Index(fields=["organisation", "created", "id"], name="revision_newest"),
        ),
        migrations.AddIndex(
            model_name="revision",
            index=models.Index(
                fields=["organisation", "package", "created", "id"],
                name="revision_package_newest",
            ),
        ),
    ]
