-- sync-now stamps the operator's trigger annotation with the current time:
-- a reconcile (an AccountSync run) at once, echoed in
-- status.lastHandledReconcileAt when handled. make generate copies this file
-- to each kind's folder.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["sso.oktaop.io/reconcile-requested-at"] = os.date("!%Y-%m-%dT%XZ")
return obj
