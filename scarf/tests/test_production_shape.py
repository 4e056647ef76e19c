"""docker-compose.yml cannot run here (no container engine), so check its shape."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_runs_postgres_redis_web_worker_and_beat():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose()["services"])


def test_the_app_services_run_the_right_commands():
    services = compose()["services"]

    assert services["web"]["command"][:2] == ["gunicorn", "scarf.wsgi:application"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scarf", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scarf", "beat"]


def test_the_app_services_get_the_database_and_redis_urls():
    services = compose()["services"]

    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379")
        assert "SECRET_KEY" in environment


def test_services_have_health_checks_and_the_database_a_volume():
    services = compose()["services"]

    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert "postgres-data" in compose()["volumes"]


def test_the_image_serves_the_wsgi_application_with_the_gunicorn_config():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert (
        'CMD ["gunicorn", "scarf.wsgi:application", "--config", "scarf/gunicorn.conf.py"]'
        in dockerfile
    )
    assert (ROOT / "scarf" / "gunicorn.conf.py").exists()
