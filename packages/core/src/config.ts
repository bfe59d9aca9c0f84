/** Every setting, one `Config` each, by concern (see `config/`). */
export * from "./config/admin.js"
export * from "./config/database.js"
export * from "./config/delivery.js"
export * from "./config/integers.js"
export * from "./config/queues.js"
export * from "./config/reconcile.js"
export * from "./config/runtime.js"
export * from "./config/settings.js"
