import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { createBackend } from './lib/backend';
import { AppState } from './lib/app.svelte';
import { language } from './lib/language.svelte';

// Before anything renders: the first frame is already in the agent's language.
language.start();

createBackend().then((backend) => {
  mount(App, { target: document.getElementById('app')!, props: { app: new AppState(backend) } });
});
