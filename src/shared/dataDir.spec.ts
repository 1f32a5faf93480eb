import { describe, expect, it } from 'vitest';
import { dataDirFor } from './dataDir';

describe('the data dir rule', () => {
  it('takes $VIGILO_DATA_DIR first, as given', () => {
    expect(dataDirFor({ VIGILO_DATA_DIR: '/data/v', XDG_DATA_HOME: '/xdg' }, '/home/u')).toBe('/data/v');
  });

  it('then $XDG_DATA_HOME/vigilo', () => {
    expect(dataDirFor({ XDG_DATA_HOME: '/xdg/' }, '/home/u')).toBe('/xdg/vigilo');
  });

  it('else ~/.local/share/vigilo; empty variables count as unset', () => {
    expect(dataDirFor({ VIGILO_DATA_DIR: '', XDG_DATA_HOME: '' }, '/root')).toBe('/root/.local/share/vigilo');
    expect(dataDirFor({}, '/')).toBe('/.local/share/vigilo');
  });
});
