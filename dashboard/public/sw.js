/**
 * smokehub's service worker, served as /sw.js (scope `/`, Cache-Control: no-cache).
 * It holds no MQTT connection and caches nothing: the open page listens to the hub and, when an
 * alarm arrives while it is hidden, shows the notification through this worker's registration
 * (`registration.showNotification`). This worker only answers a tap on a notification: it focuses
 * an open dashboard window and takes it to that alarm on the phone view, or opens the phone view.
 * A closed browser runs no page, so it gets no alert from here: the hub's SMS and calls do that.
 */
self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('notificationclick', (event) => {
  const notification = event.notification;
  const alarm = notification.data && typeof notification.data.alarm === 'string' ? notification.data.alarm : '';
  notification.close();
  const path = '/#/phone' + (alarm ? '?alarm=' + encodeURIComponent(alarm) : '');
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const client = windows.find((c) => c.focused) || windows[0];
      if (client) {
        // The page goes to the alarm first: focusing can be refused (it needs the tap's activation).
        client.postMessage({ type: 'smokehub.open-alarm', alarm });
        try {
          await client.focus();
        } catch {
          /* the page still shows the alarm when the person switches to it */
        }
        return;
      }
      await self.clients.openWindow(path);
    })(),
  );
});
