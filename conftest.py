pytest_plugins = ["scarf.testing"]
