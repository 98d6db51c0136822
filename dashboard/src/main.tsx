/** Entry point: styles, audio unlock, session boot, render. */
import { render } from 'preact';
import './styles.css';
import { App } from './app.tsx';
import { installAudioUnlock } from './alerting.ts';
import { boot } from './session.ts';
import { installNotifications } from './notify.ts';
import { getState } from './store.ts';

document.documentElement.lang = getState().lang;
installAudioUnlock();
installNotifications();
render(<App />, document.getElementById('app')!);
void boot();
