"""The jupyterhub-zos CrossGuard policy pack (served by __main__.py, assembled in pack.py).

sdk.py alone touches pulumi-policy's internals; props.py reads resources the way a policy
sees them; rule.py holds `Rule`; one module per group holds its rules beside their
validators: containers, images, keys, gateway, remote, data, credentials, tls.
"""
