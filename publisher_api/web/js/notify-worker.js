// Service worker of the phone follower, for one thing only: Android Chrome shows a page's
// notifications only through a worker registration. It controls no page (its scope is this
// folder) and caches nothing; a tap on the notification brings the ticket page back.

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data?.url;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((pages) => {
      const page = pages.find((p) => p.url === url);
      if (page) return page.focus();
      return url ? self.clients.openWindow(url) : undefined;
    }),
  );
});
