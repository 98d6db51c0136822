/** Inline SVG icons (no icon font, no emoji font needed: kiosks and Raspberry Pis often lack one). */
export function FlameIcon({ size = '1em' }: { size?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12.6 1.5c.4 3.2-1.3 5-3 6.9C8 10.1 6.5 11.9 6.5 14.8A5.6 5.6 0 0 0 12 20.5a5.6 5.6 0 0 0 5.5-5.7c0-2.1-.9-3.7-1.9-5 .1 1.6-.5 2.9-1.7 3.4.5-3.9-.6-8.3-1.3-11.7Zm-.5 11.6c.2 1.6 1.9 2.3 1.9 4.1a2 2 0 0 1-4 0c0-1.5 1.3-2.5 2.1-4.1Z"
      />
    </svg>
  );
}

/** A fire truck (the station dispatched one). */
export function TruckIcon({ size = '1em' }: { size?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M2 6h11v9h1V9h4.2l3.8 4.3V17h-1.6a2.5 2.5 0 0 0-4.8 0H9.4a2.5 2.5 0 0 0-4.8 0H2V6Zm13 4.5V13h5l-2.2-2.5H15ZM3.5 4h8v1.2h-8V4ZM7 16a1.6 1.6 0 1 1 0 3.2A1.6 1.6 0 0 1 7 16Zm10 0a1.6 1.6 0 1 1 0 3.2 1.6 1.6 0 0 1 0-3.2Z"
      />
    </svg>
  );
}

/** Log out: a door with an arrow leaving it. */
export function LogoutIcon({ size = '1em' }: { size?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M4 3h9v2H6v14h7v2H4V3Zm12.6 4.4L21.2 12l-4.6 4.6-1.4-1.4 2.2-2.2H9v-2h8.4l-2.2-2.2 1.4-1.4Z" />
    </svg>
  );
}
