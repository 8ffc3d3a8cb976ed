"""The credit services API (`chengxin serve`): banks, credit agencies and departments use the
published ratings from their own systems. A face, like the dashboard: it reads through the read
model (`chengxin.readmodel`) under the roles of `chengxin/conf/roles.yaml`, and keeps its keys,
quotas and call log in the shared state (`chengxin.desks.institutions`)."""
